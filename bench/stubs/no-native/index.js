throw new Error('wasm-leak-hunt: the native o1js backend is stubbed out; use the WASM backend');

// Page prelude (classic script, before the o1js module): set up the tracer on the main thread while nothing
// of o1js has run yet (the tracer must replace FinalizationRegistry before the glue's classes create their
// registries), and patch Worker and WebAssembly for what o1js does next.
self.__wlhBrowser.initPage();
console.log('[wlh] page tracer ready', JSON.stringify(self.__wlhBrowser.status()));

// The two workloads of the benchmark. Both return { program, prove(i, previousProof) }.
//
// trivial: a ZkProgram whose one method chains `rows` multiplications (one real constraint each),
//          proved afresh every iteration.
// recursive: a ZkProgram whose step method verifies the previous proof (SelfProof), proved step
//          after step: iteration 1 is the base proof, iteration i > 1 extends proof i-1.
export function defineScenario(o1js, name, { rows }) {
  const { Field, ZkProgram, SelfProof } = o1js;
  if (name === 'trivial') {
    const program = ZkProgram({
      name: 'wlh-trivial',
      publicInput: Field,
      publicOutput: Field,
      methods: {
        run: {
          privateInputs: [Field],
          async method(x, y) {
            let acc = y;
            for (let i = 0; i < rows; i++) acc = acc.mul(y).add(x);
            return { publicOutput: acc };
          },
        },
      },
    });
    return {
      program,
      async prove(i) {
        const { proof } = await program.run(Field(i), Field(i + 1));
        return proof;
      },
    };
  }
  if (name === 'recursive') {
    const program = ZkProgram({
      name: 'wlh-recursive',
      publicInput: Field,
      methods: {
        base: {
          privateInputs: [],
          async method(x) {
            let acc = x;
            for (let i = 0; i < rows; i++) acc = acc.mul(x);
            acc.mul(0).assertEquals(Field(0));
          },
        },
        step: {
          privateInputs: [SelfProof],
          async method(x, previous) {
            previous.verify();
            previous.publicInput.add(1).assertEquals(x);
          },
        },
      },
    });
    return {
      program,
      async prove(i, previous) {
        const { proof } = i === 1 ? await program.base(Field(1)) : await program.step(Field(i), previous);
        return proof;
      },
    };
  }
  throw new Error(`unknown scenario '${name}' (expected trivial or recursive)`);
}

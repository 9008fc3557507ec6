// The proof loop of the leak gate (docs/leak-gate/o1js-leak-gate.yml): a 1-method ZkProgram compiled once and
// proved N times (default 3), each proof verified. It imports o1js by name; `wlh run --o1js SPEC` decides
// which build that is (the release, or the pull request's checkout).
import { Field, ZkProgram } from 'o1js';

const proofs = Number(process.argv[2] ?? 3);
const program = ZkProgram({
  name: 'leak-gate',
  publicInput: Field,
  methods: {
    run: {
      privateInputs: [Field],
      async method(x, y) {
        x.mul(y).add(x).assertEquals(x.mul(y).add(x));
      },
    },
  },
});

await program.compile();
for (let i = 1; i <= proofs; i++) {
  const { proof } = await program.run(Field(i), Field(i + 1));
  if (!(await program.verify(proof))) throw new Error(`proof ${i} does not verify`);
  console.log(`proof ${i}/${proofs}: ok`);
}
process.exit(0); // o1js's worker pool would keep the process alive

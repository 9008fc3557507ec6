// ---- rules for types of proof-systems and its dependencies (template wlh_trace_upstream.rs) ----

// Copy types of the dependencies (a Copy type owns no heap).
wlh_no_heap!(
    mina_curves::pasta::Fp,
    mina_curves::pasta::Fq,
    mina_curves::pasta::Pallas,
    mina_curves::pasta::Vesta,
    arkworks::WasmPastaFp,
    arkworks::WasmPastaFq,
    arkworks::WasmGPallas,
    arkworks::WasmGVesta,
    arkworks::WasmPallasGProjective,
    arkworks::WasmVestaGProjective,
    kimchi::circuits::gate::GateType,
    kimchi::circuits::wires::Wire,
);

// Types whose layout is public.

/// `FlatVector<T>` derefs to its `Vec<T>`.
impl<T: WlhHeap> WlhHeap for wasm_types::FlatVector<T> {
    fn wlh_heap(&self) -> usize {
        let v: &Vec<T> = self;
        v.wlh_heap()
    }
    fn wlh_untracked_heap(&self) -> usize {
        let v: &Vec<T> = self;
        v.wlh_untracked_heap()
    }
}

impl<C: WlhHeap> WlhHeap for poly_commitment::commitment::PolyComm<C> {
    fn wlh_heap(&self) -> usize {
        self.chunks.wlh_heap()
    }
}

impl<F: ark_ff::PrimeField + WlhHeap> WlhHeap for kimchi::circuits::gate::CircuitGate<F> {
    fn wlh_heap(&self) -> usize {
        self.wires.wlh_heap() + self.coeffs.wlh_heap()
    }
}

/// Counts `g` and `h`. **Not counted**: the Lagrange-basis cache
/// (`lagrange_bases`, private fields); it can be large after
/// `get_lagrange_basis`.
impl<G: WlhHeap> WlhHeap for poly_commitment::ipa::SRS<G> {
    fn wlh_heap(&self) -> usize {
        self.g.wlh_heap() + self.h.wlh_heap()
    }
}

impl<E: WlhHeap> WlhHeap for kimchi::proof::PointEvaluations<E> {
    fn wlh_heap(&self) -> usize {
        self.zeta.wlh_heap() + self.zeta_omega.wlh_heap()
    }
}

impl<E: WlhHeap> WlhHeap for kimchi::proof::ProofEvaluations<E> {
    fn wlh_heap(&self) -> usize {
        heap_of(&[
            &self.public,
            &self.w,
            &self.z,
            &self.s,
            &self.coefficients,
            &self.generic_selector,
            &self.poseidon_selector,
            &self.complete_add_selector,
            &self.mul_selector,
            &self.emul_selector,
            &self.endomul_scalar_selector,
            &self.range_check0_selector,
            &self.range_check1_selector,
            &self.foreign_field_add_selector,
            &self.foreign_field_mul_selector,
            &self.xor_selector,
            &self.rot_selector,
            &self.lookup_aggregation,
            &self.lookup_table,
            &self.lookup_sorted,
            &self.runtime_lookup_table,
            &self.runtime_lookup_table_selector,
            &self.xor_lookup_selector,
            &self.lookup_gate_lookup_selector,
            &self.range_check_lookup_selector,
            &self.foreign_field_mul_lookup_selector,
        ])
    }
}

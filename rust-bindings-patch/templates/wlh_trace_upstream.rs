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
/// (`lagrange_bases`). Its map is private behind a mutex that is held while
/// bases are computed (on the rayon pool), so reading it from a measurement
/// could block a pool thread; it is empty when an SRS is created, and the
/// commitments JS receives from it are measured as the `WasmF*PolyComm`
/// values built from them.
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

// ---- deep sizes of the prover index (issue 15: it was measured shallow) ----

/// Polynomial in coefficient form: its coefficient vector.
impl<F: ark_ff::Field + WlhHeap> WlhHeap for ark_poly::univariate::DensePolynomial<F> {
    fn wlh_heap(&self) -> usize {
        self.coeffs.wlh_heap()
    }
}

/// Polynomial in evaluation form: its evaluation vector (the domain owns no heap).
impl<F: ark_ff::FftField + WlhHeap, Dom: ark_poly::EvaluationDomain<F>> WlhHeap
    for ark_poly::Evaluations<F, Dom>
{
    fn wlh_heap(&self) -> usize {
        self.evals.wlh_heap()
    }
}

/// `LazyCache<T>` (o1-utils) holds its value inline once computed. Its public
/// reads (`get`, `Deref`) *compute* a missing value, which a measurement must
/// never do; its `Debug` impl reads the slot without computing and prints
/// `LazyCache(<uninitialized>)` when it is empty. So the value is measured
/// only when that probe says it is there (then `get` computes nothing); a
/// cache not yet computed counts 0 (and so does the closure waiting in it).
impl<T: WlhHeap + std::fmt::Debug> WlhHeap for o1_utils::lazy_cache::LazyCache<T> {
    fn wlh_heap(&self) -> usize {
        if debug_starts_with(self, "LazyCache(<uninitialized>)") {
            0
        } else {
            self.get().wlh_heap()
        }
    }
}

/// Selector evaluations of the lookup argument (each optional).
impl<T: WlhHeap> WlhHeap for kimchi::circuits::lookup::index::LookupSelectors<T> {
    fn wlh_heap(&self) -> usize {
        heap_of(&[&self.xor, &self.lookup, &self.range_check, &self.ffmul])
    }
}

/// Counts the lookup tables, table ids and selector evaluations. **Not
/// counted**: `runtime_tables` specs and `configuration` (small tables of
/// patterns and a dummy row).
impl<F: ark_ff::PrimeField + WlhHeap> WlhHeap
    for kimchi::circuits::lookup::index::LookupConstraintSystem<F>
{
    fn wlh_heap(&self) -> usize {
        heap_of(&[&self.lookup_table, &self.table_ids, &self.lookup_selectors, &self.runtime_selector])
    }
}

/// Column evaluations over the d4/d8 domains: by far the largest part of a
/// prover index.
impl<F: ark_ff::PrimeField + WlhHeap> WlhHeap for kimchi::circuits::constraints::ColumnEvaluations<F> {
    fn wlh_heap(&self) -> usize {
        heap_of(&[
            &self.permutation_coefficients8,
            &self.coefficients8,
            &self.generic_selector4,
            &self.poseidon_selector8,
            &self.complete_add_selector4,
            &self.mul_selector8,
            &self.emul_selector8,
            &self.endomul_scalar_selector8,
            &self.range_check0_selector8,
            &self.range_check1_selector8,
            &self.foreign_field_add_selector8,
            &self.foreign_field_mul_selector8,
            &self.xor_selector8,
            &self.rot_selector8,
        ])
    }
}

/// Counts the gates (an `Arc`, charged once), `sid` and the lookup constraint
/// system when computed. **Not counted**: the private `precomputations`
/// cache (domain constant evaluations), which no public API can read without
/// computing it.
impl<F: ark_ff::PrimeField + WlhHeap> WlhHeap for kimchi::circuits::constraints::ConstraintSystem<F> {
    fn wlh_heap(&self) -> usize {
        heap_of(&[&self.gates, &self.sid, &self.lookup_constraint_system])
    }
}

/// Counts the commitments, the permutation vanishing polynomial when
/// computed, and the SRS (an `Arc` shared with the `WasmF*Srs` object and the
/// prover index: charged once). **Not counted**: `lookup_index` and
/// `powers_of_alpha` (commitments of the lookup argument, and a small map).
impl<const FULL_ROUNDS: usize, G, Srs> WlhHeap
    for kimchi::verifier_index::VerifierIndex<FULL_ROUNDS, G, Srs>
where
    G: kimchi::curve::KimchiCurve<FULL_ROUNDS> + WlhHeap,
    G::ScalarField: WlhHeap,
    Srs: WlhHeap,
{
    fn wlh_heap(&self) -> usize {
        heap_of(&[
            &self.srs,
            &self.sigma_comm,
            &self.coefficients_comm,
            &self.generic_comm,
            &self.psm_comm,
            &self.complete_add_comm,
            &self.mul_comm,
            &self.emul_comm,
            &self.endomul_scalar_comm,
            &self.range_check0_comm,
            &self.range_check1_comm,
            &self.foreign_field_add_comm,
            &self.foreign_field_mul_comm,
            &self.xor_comm,
            &self.rot_comm,
        ]) + self.permutation_vanishing_polynomial_m.get().map_or(0, WlhHeap::wlh_heap)
    }
}

/// **Deep**: the constraint system, the column evaluations (when computed,
/// see `LazyCache`), the verifier index when built, and the SRS (shared:
/// charged once, normally to the `WasmF*Srs` object that was measured
/// first). **Not counted**: the symbolic `linearization` and
/// `powers_of_alpha` (expressions and a small map, independent of the
/// circuit size), and what `ConstraintSystem` and `VerifierIndex` leave out.
impl<const FULL_ROUNDS: usize, G, Srs> WlhHeap
    for kimchi::prover_index::ProverIndex<FULL_ROUNDS, G, Srs>
where
    G: kimchi::curve::KimchiCurve<FULL_ROUNDS> + WlhHeap,
    G::ScalarField: WlhHeap,
    Srs: WlhHeap,
{
    fn wlh_heap(&self) -> usize {
        heap_of(&[&self.cs, &self.srs, &self.column_evaluations, &self.verifier_index])
    }
}

// wasm-leak-hunt: Clone of {{DISPLAY}} (generated in place of the derive): the
// clone is a new object, measured when it is made, with its own site
impl{{IMPL_GENERICS}} ::core::clone::Clone for {{SELF_TY}}{{WHERE}} {
    fn clone(&self) -> Self {
        ::wlh_trace_core::track_in(
            {{BUILD}},
            <Self as ::wlh_trace_core::Traced>::SITE_BASE,
            {{REST}},
        )
    }
}

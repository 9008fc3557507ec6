// wasm-leak-hunt: Default of {{DISPLAY}} (generated in place of the derive):
// measured, with its own site
impl{{IMPL_GENERICS}} ::core::default::Default for {{SELF_TY}}{{WHERE}} {
    fn default() -> Self {
        ::wlh_trace_core::track_in(
            {{BUILD}},
            <Self as ::wlh_trace_core::Traced>::SITE_BASE,
            {{REST}},
        )
    }
}

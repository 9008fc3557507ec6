
// wasm-leak-hunt: size of {{DISPLAY}} (generated; not tracked itself)
impl{{IMPL_GENERICS}} crate::wlh_trace::WlhHeap for {{SELF_TY}}{{WHERE}} {
    fn wlh_heap(&self) -> usize {
        crate::wlh_trace::heap_of(&[{{FIELDS}}])
    }
    fn wlh_untracked_heap(&self) -> usize {
        0{{UNTRACKED}}
    }
    fn wlh_tracked_inline(&self) -> usize {
        0{{INLINE}}
    }
}


// wasm-leak-hunt: size and tracking of {{DISPLAY}} (generated)
impl{{IMPL_GENERICS}} crate::wlh_trace::WlhHeap for {{SELF_TY}}{{WHERE}} {
    fn wlh_heap(&self) -> usize {
        crate::wlh_trace::heap_of(&[{{FIELDS}}])
    }
    fn wlh_untracked_heap(&self) -> usize {
        0
    }
    fn wlh_tracked_inline(&self) -> usize {
        ::core::mem::size_of::<Self>()
    }
}
impl{{IMPL_GENERICS}} ::wlh_trace_core::HeapSize for {{SELF_TY}}{{WHERE}} {
    fn heap_size(&self) -> usize {
        crate::wlh_trace::WlhHeap::wlh_heap(self)
    }
    fn untracked_heap_size(&self) -> usize {
        0
    }
    fn tracked_inline_size(&self) -> usize {
        ::core::mem::size_of::<Self>()
    }
}
impl{{IMPL_GENERICS}} ::wlh_trace_core::Traced for {{SELF_TY}}{{WHERE}} {
    const TYPE_NAME: &'static str = {{TYPE_NAME}};
    const SITE_BASE: &'static str = concat!(module_path!(), "::", {{RUST_NAME}});
    fn own_size(&self) -> usize {
        crate::wlh_trace::own_size_of::<Self>(&[{{FIELDS}}])
    }
    fn tracker_mut(&mut self) -> &mut ::wlh_trace_core::Tracked<Self> {
        &mut self.{{TRACKER}}
    }
}

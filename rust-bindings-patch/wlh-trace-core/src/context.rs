//! The export context: which exported (`#[wasm_bindgen]`) function JS is
//! running. The generated patch opens it at the top of every exported
//! function; SITE lines name it as the boundary (`rust`), spelled as the wasm
//! export is named (a free function: its name; a method: the class name in
//! lower case, `_`, the method name, e.g. `wasmfppolycomm_unshifted`), which
//! is how the binary route names it. So a leak found by either route names
//! the same JS-facing call.
//!
//! The context is **process-wide**, as in the binary route: JS calls exports
//! on the main thread only (worker threads run rayon tasks), so values built
//! on rayon workers while an export runs get that export as their boundary.
//! Only the outermost call counts: an export that Rust calls directly from
//! another one (or that another thread enters meanwhile) does not replace it.
//! A worker's entry point (`wbg_rayon_start_worker`, which never returns) must
//! not open a context; the generator leaves it out. The context lives in the
//! one lock's state, so reading it and writing the ALLOCATE line are one step.

use std::fmt;

/// An exported function: `class` is empty for a free function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Export {
    /// The JS class of a method (`js_class`, else the Rust type name); "" for a free function.
    pub class: &'static str,
    /// The function's JS name (`js_name`, else its Rust name).
    pub name: &'static str,
}

impl fmt::Display for Export {
    /// The wasm export's name: `name`, or `lowercase(class)_name` for a method
    /// (wasm-bindgen's naming of method exports).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.class.is_empty() {
            for c in self.class.chars().flat_map(char::to_lowercase) {
                write!(f, "{c}")?;
            }
            f.write_str("_")?;
        }
        f.write_str(self.name)
    }
}

/// Restores the previous context when dropped.
#[must_use = "the export context ends when the guard is dropped"]
pub struct ExportGuard {
    entered: bool,
}

/// Marks the exported free function `name` as the boundary until the guard is
/// dropped, unless a boundary is already set (a nested call).
pub fn enter_export(name: &'static str) -> ExportGuard {
    ExportGuard {
        entered: crate::log::enter_export(Export { class: "", name }),
    }
}

/// [`enter_export`] for a method of an exported class.
pub fn enter_method(class: &'static str, name: &'static str) -> ExportGuard {
    ExportGuard {
        entered: crate::log::enter_export(Export { class, name }),
    }
}

impl Drop for ExportGuard {
    fn drop(&mut self) {
        if self.entered {
            crate::log::leave_export();
        }
    }
}

/// The boundary now, if any.
pub fn current_export() -> Option<Export> {
    crate::log::current_export()
}

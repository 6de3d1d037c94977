//! The one font every plot uses, embedded in the binary.
//!
//! plotters' default font support goes through font-kit, which needs the
//! fontconfig and freetype system libraries. With its `ab_glyph` feature it
//! draws text from a TTF we hand it instead, so the build needs no system
//! package and text looks the same on every machine. DejaVu Sans is under a
//! permissive licence (fonts/LICENSE-DejaVu.txt).

use std::sync::OnceLock;

use plotters::style::FontStyle;

/// The family name plots ask for; registered before anything is drawn.
pub(crate) const FAMILY: &str = "sans-serif";

static DEJAVU_SANS: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");

/// Registers the embedded font once per process. Without it, drawing text
/// fails at run time with `FontUnavailable`.
pub(crate) fn ensure_registered() -> Result<(), String> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font(FAMILY, FontStyle::Normal, DEJAVU_SANS).is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err("the embedded DejaVu Sans font does not parse".into())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_embedded_font_registers() {
        super::ensure_registered().unwrap();
    }
}

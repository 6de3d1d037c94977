//! One colour per kind of fault, the same on every plot, the timeline and
//! the sweep report.
//!
//! The runner records fine-grained kinds (`partition_majority`,
//! `isolate_leader`, `clock_jump`, …); a reader tells apart what a fault
//! does to the cluster, so kinds are grouped into families — every way of
//! cutting links is a partition, every way of taking a node down is a
//! crash — and each family has its colour.

use plotters::style::RGBColor;

/// A family of fault kinds, with its colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FaultFamily {
    /// Legend order: families are listed as declared in [`FAMILIES`].
    order: usize,
    pub name: &'static str,
    pub colour: RGBColor,
}

/// (family, colour, the recorded kinds it covers). Colours stay clear of
/// the outcome colours (blue ok, red fail, orange info) and of each other
/// when shaded at [`crate::figure::FAULT_OPACITY`].
const FAMILIES: [(&str, RGBColor, &[&str]); 10] = [
    (
        "partition",
        RGBColor(0x9C, 0x7F, 0xD0),
        &[
            "partition",
            "partition_halves",
            "partition_majority",
            "isolate",
            "isolate_leader",
            "isolate_leader_with_clients",
            "bridge",
            "ring",
            "one_way",
        ],
    ),
    (
        "crash",
        RGBColor(0xE3, 0x77, 0xC2),
        &["crash", "restart", "kill_wipe"],
    ),
    ("pause", RGBColor(0xBC, 0xBD, 0x22), &["pause"]),
    (
        "clock skew/drift/jump",
        RGBColor(0x17, 0xBE, 0xCF),
        &["clock_skew", "clock_drift", "clock_jump"],
    ),
    ("loss", RGBColor(0x8C, 0x56, 0x4B), &["loss"]),
    (
        "delay/reorder",
        RGBColor(0x7F, 0x7F, 0x7F),
        &["delay", "latency", "reorder"],
    ),
    ("duplicate", RGBColor(0x2C, 0xA0, 0x2C), &["duplicate"]),
    ("corrupt", RGBColor(0xE7, 0xBA, 0x52), &["corrupt"]),
    ("byzantine", RGBColor(0x39, 0x3B, 0x79), &["byzantine"]),
    ("other", RGBColor(0xA0, 0xA0, 0xA0), &[]),
];

impl FaultFamily {
    /// The family of a recorded kind (or the family of that name); a kind
    /// this crate does not know (a newer runner's) is `other`, never an
    /// error.
    pub fn of(kind: &str) -> Self {
        let order = FAMILIES
            .iter()
            .position(|(name, _, kinds)| kinds.contains(&kind) || *name == kind)
            .unwrap_or(FAMILIES.len() - 1);
        let (name, colour, _) = FAMILIES[order];
        Self {
            order,
            name,
            colour,
        }
    }

    /// The colour as SVG writes it: `#9C7FD0`.
    pub fn svg_colour(self) -> String {
        let RGBColor(r, g, b) = self.colour;
        format!("#{r:02X}{g:02X}{b:02X}")
    }

    /// A darker shade of the colour, for text that must read on white.
    pub fn text_colour(self) -> RGBColor {
        let RGBColor(r, g, b) = self.colour;
        let dark = |c: u8| (f64::from(c) * 0.55) as u8;
        RGBColor(dark(r), dark(g), dark(b))
    }
}

/// The families of `kinds`, once each, in legend order.
pub(crate) fn families<'a>(kinds: impl IntoIterator<Item = &'a str>) -> Vec<FaultFamily> {
    let mut out: Vec<FaultFamily> = kinds.into_iter().map(FaultFamily::of).collect();
    out.sort_by_key(|f| f.order);
    out.dedup();
    out
}

/// The shading colour of fault `kind` as SVG writes it (`#RRGGBB`): what a
/// test looks for among an SVG's fills.
pub fn fault_colour_svg(kind: &str) -> String {
    FaultFamily::of(kind).svg_colour()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_of_one_family_share_a_colour_and_families_differ() {
        assert_eq!(
            FaultFamily::of("isolate_leader"),
            FaultFamily::of("partition_majority")
        );
        assert_eq!(FaultFamily::of("clock_jump").name, "clock skew/drift/jump");
        assert_eq!(FaultFamily::of("no-such-kind").name, "other");
        let mut colours: Vec<String> = FAMILIES.iter().map(|(_, c, _)| format!("{c:?}")).collect();
        colours.sort();
        colours.dedup();
        assert_eq!(colours.len(), FAMILIES.len(), "one colour per family");
    }

    #[test]
    fn families_are_listed_once_in_legend_order() {
        let names: Vec<&str> = families(["crash", "isolate", "crash", "partition_halves"])
            .iter()
            .map(|f| f.name)
            .collect();
        assert_eq!(names, ["partition", "crash"]);
        assert_eq!(fault_colour_svg("partition"), "#9C7FD0");
    }
}

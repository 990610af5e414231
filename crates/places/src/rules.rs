//! Pure rules of the registry: what a valid place looks like, and which kind
//! of place may hang under which.

use jinlin_kernel::place::PlaceKind;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The three kinds of compound the article distinguishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CompoundType {
    /// 商品房
    Commercial,
    /// 安置房
    Resettlement,
    /// 老旧小区
    Old,
}

/// New town or old town.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TownArea {
    New,
    Old,
}

/// Where a dwelling's area figure came from, in the order the law prefers
/// them: the real-estate register, then the survey, then the sale contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AreaSource {
    Register,
    Survey,
    Contract,
}

macro_rules! str_enum {
    ($t:ty { $($v:ident => $s:literal),* $(,)? }) => {
        impl $t {
            pub fn as_str(self) -> &'static str {
                match self { $(<$t>::$v => $s),* }
            }
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($s => Some(<$t>::$v),)* _ => None }
            }
        }
    };
}

str_enum!(CompoundType { Commercial => "commercial", Resettlement => "resettlement", Old => "old" });
str_enum!(TownArea { New => "new", Old => "old" });
str_enum!(AreaSource { Register => "register", Survey => "survey", Contract => "contract" });

/// The largest exclusive area accepted for one dwelling: 100,000 m².
pub const MAX_AREA_CENTI_M2: i64 = 10_000_000;
pub const MAX_NAME_CHARS: usize = 128;
pub const MAX_ADDRESS_CHARS: usize = 256;

/// A problem with submitted place data; `field` names the input, the key
/// is translated for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub field: &'static str,
    pub key: &'static str,
}

impl Invalid {
    fn new(field: &'static str, key: &'static str) -> Self {
        Invalid { field, key }
    }
}

/// Which kinds may be created under a parent of `parent` kind by hand
/// (divisions come from the national import, not from forms).
pub fn creatable_child(parent: PlaceKind) -> Option<PlaceKind> {
    match parent {
        PlaceKind::Community => Some(PlaceKind::Compound),
        PlaceKind::Compound => Some(PlaceKind::Building),
        PlaceKind::Building => Some(PlaceKind::Entrance),
        PlaceKind::Entrance => Some(PlaceKind::Dwelling),
        _ => None,
    }
}

pub fn check_name(name: &str) -> Result<String, Invalid> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Invalid::new("name", "place.error.name_required"));
    }
    if name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(Invalid::new("name", "place.error.name_too_long"));
    }
    Ok(name.to_string())
}

pub fn check_address(address: &str) -> Result<String, Invalid> {
    let address = address.trim();
    if address.chars().count() > MAX_ADDRESS_CHARS || address.chars().any(char::is_control) {
        return Err(Invalid::new("address", "place.error.address_too_long"));
    }
    Ok(address.to_string())
}

/// Coordinates in millionths of a degree, within China's bounding box.
pub fn check_coordinates(lat_e6: Option<i32>, lng_e6: Option<i32>) -> Result<(), Invalid> {
    match (lat_e6, lng_e6) {
        (None, None) => Ok(()),
        (Some(lat), Some(lng))
            if (3_000_000..=54_000_000).contains(&lat)
                && (73_000_000..=136_000_000).contains(&lng) =>
        {
            Ok(())
        }
        _ => Err(Invalid::new("latitude", "place.error.coordinates")),
    }
}

pub fn check_area(area_centi_m2: i64) -> Result<(), Invalid> {
    if area_centi_m2 <= 0 || area_centi_m2 > MAX_AREA_CENTI_M2 {
        return Err(Invalid::new("area", "place.error.area"));
    }
    Ok(())
}

/// Parses an area typed in square metres ("89.5", "89.50", "89") into
/// hundredths of a square metre, exactly (no floating point).
pub fn parse_area_m2(text: &str) -> Result<i64, Invalid> {
    let bad = || Invalid::new("area", "place.error.area");
    let text = text.trim();
    let (whole, frac) = match text.split_once('.') {
        Some((_, "")) => return Err(bad()),
        Some((w, f)) => (w, f),
        None => (text, ""),
    };
    if whole.is_empty()
        || whole.len() > 7
        || frac.len() > 2
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    let whole: i64 = whole.parse().map_err(|_| bad())?;
    let frac: i64 = match frac.len() {
        0 => 0,
        1 => frac.parse::<i64>().map_err(|_| bad())? * 10,
        _ => frac.parse().map_err(|_| bad())?,
    };
    let area = whole * 100 + frac;
    check_area(area)?;
    Ok(area)
}

/// Formats hundredths of a square metre as "89.50".
pub fn format_area(area_centi_m2: i64) -> String {
    format!("{}.{:02}", area_centi_m2 / 100, area_centi_m2 % 100)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn only_registry_levels_are_created_by_hand() {
        assert_eq!(
            creatable_child(PlaceKind::Community),
            Some(PlaceKind::Compound)
        );
        assert_eq!(
            creatable_child(PlaceKind::Entrance),
            Some(PlaceKind::Dwelling)
        );
        assert_eq!(creatable_child(PlaceKind::Street), None);
        assert_eq!(creatable_child(PlaceKind::Dwelling), None);
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(check_name("  金山花园 ").unwrap(), "金山花园");
        assert!(check_name("   ").is_err());
        assert!(check_name(&"楼".repeat(129)).is_err());
        assert!(check_name("a\u{0}b").is_err());
    }

    #[test]
    fn areas_parse_exactly() {
        assert_eq!(parse_area_m2("89.5").unwrap(), 8950);
        assert_eq!(parse_area_m2("89.05").unwrap(), 8905);
        assert_eq!(parse_area_m2("120").unwrap(), 12000);
        for bad in [
            "", "-1", "0", "1.234", "abc", "1e3", "12.", ".5x", "99999999",
        ] {
            assert!(parse_area_m2(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn coordinates_must_come_in_pairs_inside_china() {
        assert!(check_coordinates(None, None).is_ok());
        assert!(check_coordinates(Some(26_050_000), Some(119_300_000)).is_ok());
        assert!(check_coordinates(Some(26_050_000), None).is_err());
        assert!(check_coordinates(Some(0), Some(0)).is_err());
    }

    proptest! {
        #[test]
        fn formatting_and_parsing_round_trip(area in 1i64..=MAX_AREA_CENTI_M2) {
            prop_assert_eq!(parse_area_m2(&format_area(area)).unwrap(), area);
        }
    }
}

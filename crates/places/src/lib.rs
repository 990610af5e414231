//! The place tree: district → street/town → community/village → compound →
//! building → entrance → dwelling, with the national division codes.

pub mod divisions;
pub mod names;

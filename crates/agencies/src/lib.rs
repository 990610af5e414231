//! Agencies (机关单位) and their pairing with compounds (挂钩联系): directed
//! pairing by district and street admins, two-way selection rounds solved by
//! a stable matching with capacities, and the pairing history.

pub mod entity;
pub mod rules;

//! People: the registry of residents, owners and party members, with their
//! personal data protected (ID numbers encrypted, phones masked).

pub mod rules;

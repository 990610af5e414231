//! Names of places: pinyin initials for search.

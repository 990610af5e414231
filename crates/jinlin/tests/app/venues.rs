//! Tests of Venues of compounds and communities: capacity, opening hours and facilities, bookings with conflict detection, usage figures and iCalendar feeds.

//! iCalendar feeds of places, teams and people.

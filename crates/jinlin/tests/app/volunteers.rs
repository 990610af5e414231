//! Tests of Party-and-public volunteer teams with members and credited activity hours, and patrol teams with shift rosters, sign-up, check-in and out, and patrol logs.

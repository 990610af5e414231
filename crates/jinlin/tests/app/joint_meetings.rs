//! Tests of Quarterly party-building joint meetings of streets: schedule, invitations, attendance, minutes, resolutions tracked as action items, compliance and reminders.

"""Activities, reminders, my day, the calendar and the iCalendar feed."""

# One way to write a moment everywhere in the admin (lists, records, filters): ISO-like, 24 hours,
# with the zone's name, instead of the English locale's "Dec. 3, 2026, 10:16 p.m.".
DATETIME_FORMAT = "Y-m-d H:i T"
SHORT_DATETIME_FORMAT = "Y-m-d H:i T"
DATE_FORMAT = "Y-m-d"
SHORT_DATE_FORMAT = "Y-m-d"
TIME_FORMAT = "H:i"
MONTH_DAY_FORMAT = "F j"
YEAR_MONTH_FORMAT = "F Y"

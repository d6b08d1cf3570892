"""Online calibration of pilot items from the responses in the database (``giga irt recalibrate``)."""

"""ApiFunction's body: the routes of spec §4 and their request and response models."""

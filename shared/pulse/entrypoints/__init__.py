"""The bodies behind the handlers of functions/: parse the event, call the use case, count it,
shape the answer."""

"""bench/run's parts, kept apart so that bench/run stays readable: probe
(the guest's serial console, HTTP probes and the bodies' check) and
report (medians, ratios, the ratio table and the plots)."""

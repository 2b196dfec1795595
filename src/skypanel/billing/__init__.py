"""The billing engine: renewals charged once per period, grace, suspension and resumption."""

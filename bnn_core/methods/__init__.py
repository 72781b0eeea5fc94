"""The alternatives to a mean-field BNN (MC dropout, ensembles, a plain net), the HMC reference, and the table."""

"""The simulated fiscal register (manufacturer and model "Simulated"): memory, paper and commands."""

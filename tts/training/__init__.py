"""Lightning tasks wrapping the same nn.Modules the synthesizer loads (the only Lightning users besides data modules)."""

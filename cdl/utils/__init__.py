"""What every layer of cdl uses: input checks, logging, the parameter protocol,
shared parameter docs and Ctrl-C handling. Imports nothing else of cdl."""

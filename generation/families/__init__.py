"""The Kandinsky model families, one module each."""

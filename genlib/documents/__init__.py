"""The files genlib writes and reads back, one typed model each: manifest.json, results.json,
llm_output.json, test.yaml, the heal journal. Imports only genlib's base modules."""

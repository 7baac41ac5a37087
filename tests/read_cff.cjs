// Read a CITATION.cff with Citation.js (the npm packages installed by `make setup`) and print
// what it understood as CSL-JSON: a real citation tool's reading of the file.
const fs = require("fs");
const { Cite } = require("@citation-js/core");
require("@citation-js/plugin-yaml");
require("@citation-js/plugin-cff");
const text = fs.readFileSync(process.argv[2], "utf8");
const cite = new Cite(text);
process.stdout.write(JSON.stringify(cite.format("data", { format: "object" })));

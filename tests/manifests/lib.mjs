// Shared helpers for the manifest checks: read multi-document YAML as plain objects.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

// Returns [{ file, index, obj }] for every non-empty document in the files.
// Throws on YAML errors (duplicate keys included) so a broken render fails loudly.
export function loadObjects(files) {
  const out = [];
  for (const file of files) {
    const text = readFileSync(file === "-" ? 0 : file, "utf8");
    const docs = parseAllDocuments(text, { uniqueKeys: true });
    docs.forEach((doc, index) => {
      if (doc.errors.length > 0) {
        throw new Error(`${file}: YAML document ${index}: ${doc.errors.map((e) => e.message).join("; ")}`);
      }
      const obj = doc.toJS({ maxAliasCount: 0 });
      if (obj !== null && obj !== undefined) out.push({ file, index, obj });
    });
  }
  return out;
}

export function describe(obj) {
  const ns = obj?.metadata?.namespace ? `${obj.metadata.namespace}/` : "";
  return `${obj?.kind ?? "<no kind>"} ${ns}${obj?.metadata?.name ?? "<no name>"}`;
}

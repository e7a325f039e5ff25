// Mermaid's own reading of diagrams: a JSON list of Mermaid sources on stdin, a JSON list of
// results on stdout, one per source, in order. Used by tests/support/mermaid.py.
//
// Each result is {"ok": true, "type": ..., ...} or {"ok": false, "error": "..."}. A source is
// read as GitLab's browser reads it: mermaid.parse (the grammar), then the diagram's own
// database, which is where Mermaid reads a Gantt task's dates (parse alone accepts "None" as a
// date). So a Gantt result lists each bar as Mermaid will draw it: its name, start and end
// (the end exclusive, ISO dates in UTC: run with TZ=UTC); a pie result lists its slices.
//
// Mermaid sanitises labels with DOMPurify, which needs a DOM: jsdom gives it one, set up
// before Mermaid is imported (DOMPurify looks for `window` when it loads).
import { JSDOM } from 'jsdom';

const { window } = new JSDOM('');
globalThis.window = window;
globalThis.document = window.document;
const { default: mermaid } = await import('mermaid');

mermaid.initialize({ startOnLoad: false });

const day = (moment) => moment.toISOString().slice(0, 10);

async function read(source) {
  try {
    const parsed = await mermaid.parse(source);
    const diagram = await mermaid.mermaidAPI.getDiagramFromText(source);
    const db = diagram.db;
    if (parsed.diagramType === 'gantt') {
      const tasks = db.getTasks().map((t) => ({
        name: t.task,
        id: t.id,
        start: day(t.startTime),
        end: day(t.endTime),
      }));
      return { ok: true, type: 'gantt', title: db.getDiagramTitle(), tasks };
    }
    if (parsed.diagramType === 'pie') {
      const slices = [...db.getSections()].map(([label, value]) => ({ label, value }));
      return { ok: true, type: 'pie', title: db.getDiagramTitle(), slices };
    }
    return { ok: true, type: parsed.diagramType };
  } catch (err) {
    return { ok: false, error: String(err && err.message ? err.message : err) };
  }
}

let input = '';
for await (const chunk of process.stdin) input += chunk;
const results = [];
for (const source of JSON.parse(input)) results.push(await read(source));
process.stdout.write(JSON.stringify(results));

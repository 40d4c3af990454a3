// The text of a PDF as Chromium's print writes it (Skia: Type0 fonts, Identity-H, a ToUnicode map per
// font, FlateDecode content streams), so a test can read what a printed page says. Not a general PDF
// reader: enough for the app's own reports.
import { inflateSync } from 'node:zlib';

interface PdfObject {
  dict: string;
  stream: Buffer | null;
}

function objects(pdf: Buffer): Map<number, PdfObject> {
  const out = new Map<number, PdfObject>();
  const text = pdf.toString('latin1');
  const re = /(\d+) 0 obj\b/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const start = m.index + m[0].length;
    const end = text.indexOf('endobj', start);
    if (end < 0) break;
    const body = text.slice(start, end);
    const s = /stream\r?\n/.exec(body);
    if (!s) {
      out.set(Number(m[1]), { dict: body, stream: null });
      continue;
    }
    const dict = body.slice(0, s.index);
    const from = start + s.index + s[0].length;
    const length = Number(/\/Length (\d+)/.exec(dict)?.[1] ?? NaN);
    const raw = pdf.subarray(from, Number.isFinite(length) ? from + length : start + body.lastIndexOf('endstream'));
    out.set(Number(m[1]), { dict, stream: /\/FlateDecode/.test(dict) ? inflateSync(raw) : raw });
    re.lastIndex = end;
  }
  return out;
}

const hexUtf16 = (h: string) => {
  let s = '';
  for (let i = 0; i + 4 <= h.length; i += 4) s += String.fromCharCode(parseInt(h.slice(i, i + 4), 16));
  return s;
};

/** Glyph id -> text, from a ToUnicode CMap. */
function cmap(src: string): Map<number, string> {
  const map = new Map<number, string>();
  for (const block of src.matchAll(/beginbfchar([\s\S]*?)endbfchar/g)) {
    for (const [, g, u] of block[1].matchAll(/<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>/g)) map.set(parseInt(g, 16), hexUtf16(u));
  }
  for (const block of src.matchAll(/beginbfrange([\s\S]*?)endbfrange/g)) {
    for (const [, a, b, rest] of block[1].matchAll(/<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>\s*(<[0-9a-fA-F]+>|\[[^\]]*\])/g)) {
      const lo = parseInt(a, 16);
      const hi = parseInt(b, 16);
      if (rest.startsWith('[')) {
        const list = [...rest.matchAll(/<([0-9a-fA-F]+)>/g)].map((x) => hexUtf16(x[1]));
        for (let g = lo; g <= hi; g++) map.set(g, list[g - lo] ?? '');
      } else {
        const base = parseInt(rest.slice(1, -1), 16);
        for (let g = lo; g <= hi; g++) map.set(g, String.fromCharCode(base + g - lo));
      }
    }
  }
  return map;
}

/** Each page's text, runs separated by spaces (positioning operators) in reading order of the stream. */
export function pdfText(pdf: Buffer): string[] {
  const objs = objects(pdf);
  const fonts = new Map<number, Map<number, string>>();
  for (const [n, o] of objs) {
    const tu = /\/ToUnicode (\d+) 0 R/.exec(o.dict);
    const stream = tu ? objs.get(Number(tu[1]))?.stream : null;
    if (stream) fonts.set(n, cmap(stream.toString('latin1')));
  }
  const pages: string[] = [];
  for (const o of objs.values()) {
    if (!/\/Type \/Page\b(?!s)/.test(o.dict)) continue;
    const byName = new Map<string, Map<number, string>>();
    const fontDict = /\/Font <<([^>]*)>>/.exec(o.dict)?.[1] ?? '';
    for (const [, name, ref] of fontDict.matchAll(/\/(\w+) (\d+) 0 R/g)) byName.set(name, fonts.get(Number(ref)) ?? new Map());
    const contents = [...(/\/Contents (?:\[([^\]]*)\]|(\d+) 0 R)/.exec(o.dict) ?? [])].slice(1).filter(Boolean).join(' ');
    let text = '';
    for (const [, ref] of contents.matchAll(/(\d+)(?: 0 R)?/g)) {
      const src = objs.get(Number(ref))?.stream?.toString('latin1') ?? '';
      let font = new Map<number, string>();
      const ops = /\/(\w+)\s+[\d.]+\s+Tf|<([0-9a-fA-F]*)>|(-?[\d.]+)(?=\s*[<\]])|\b(Td|TD|Tm|T\*|BT|ET)\b/g;
      for (let m = ops.exec(src); m; m = ops.exec(src)) {
        if (m[1]) font = byName.get(m[1]) ?? new Map();
        else if (m[2] !== undefined) for (let i = 0; i + 4 <= m[2].length; i += 4) text += font.get(parseInt(m[2].slice(i, i + 4), 16)) ?? '';
        else if (m[3] !== undefined) text += Number(m[3]) < -200 ? ' ' : '';
        else text += ' ';
      }
    }
    pages.push(text.replace(/\s+/g, ' ').trim());
  }
  return pages;
}

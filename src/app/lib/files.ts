// Files and whole folders from drag-and-drop or file pickers, with their paths inside the dropped folder.

export interface PickedFile {
  file: File;
  /** Path relative to what was dropped or picked, '/'-separated (just the name for loose files). */
  path: string;
}

const IMAGE_EXT = /\.(png|jpe?g|bmp|gif|webp|tiff?|avif)$/i;

export function looksLikeImage(f: { name: string; type?: string }): boolean {
  return (f.type ?? '').startsWith('image/') || IMAGE_EXT.test(f.name);
}

function readEntries(reader: FileSystemDirectoryReader): Promise<FileSystemEntry[]> {
  return new Promise((resolve, reject) => reader.readEntries(resolve, reject));
}

function entryFile(entry: FileSystemFileEntry): Promise<File> {
  return new Promise((resolve, reject) => entry.file(resolve, reject));
}

async function walkEntry(entry: FileSystemEntry, prefix: string, out: PickedFile[]): Promise<void> {
  if (entry.isFile) {
    out.push({ file: await entryFile(entry as FileSystemFileEntry), path: prefix + entry.name });
  } else if (entry.isDirectory) {
    const reader = (entry as FileSystemDirectoryEntry).createReader();
    // readEntries returns at most ~100 entries per call; keep reading until it returns none.
    for (;;) {
      const batch = await readEntries(reader);
      if (batch.length === 0) break;
      for (const child of batch) await walkEntry(child, `${prefix}${entry.name}/`, out);
    }
  }
}

/** Every file of a drop, descending into dropped folders. */
export async function filesFromDrop(dt: DataTransfer): Promise<PickedFile[]> {
  const entries = [...dt.items].map((it) => (it.kind === 'file' ? it.webkitGetAsEntry() : null)).filter((e): e is FileSystemEntry => e !== null);
  if (entries.length === 0) return [...dt.files].map((file) => ({ file, path: file.name }));
  const out: PickedFile[] = [];
  for (const e of entries) await walkEntry(e, '', out);
  return out;
}

export function filesFromInput(list: FileList | null): PickedFile[] {
  return [...(list ?? [])].map((file) => ({ file, path: file.webkitRelativePath || file.name }));
}

export function sortByPath(files: PickedFile[]): PickedFile[] {
  return [...files].sort((a, b) => a.path.localeCompare(b.path, undefined, { numeric: true }));
}

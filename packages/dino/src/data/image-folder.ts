// torchvision's ImageFolder: root/<class>/**/<image>. Classes are the sub-folder names in
// sorted order, labelled 0..C-1; samples are every PNG/JPEG file below each class folder,
// walked in sorted order (folders, then file names). Images are decoded on access.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Tensor } from '@dinots/tensor';
import { checkIndex, type Dataset, type LabeledImage } from './dataset.js';
import { decodeImage, isImageFile } from './image-codec.js';

export interface ImageFolderOptions {
  /** Applied to each decoded [3, H, W] image. */
  transform?: (image: Tensor) => Tensor;
  /**
   * What to do with a file that cannot be decoded. Without it, get() throws an error naming
   * the file. With it, the file is reported here once, and get() returns the next readable
   * image in its place (so the dataset keeps its length while training runs).
   */
  onBadImage?: (path: string, error: Error) => void;
}

export class ImageFolder implements Dataset<LabeledImage> {
  readonly root: string;
  readonly classes: string[];
  readonly classToIdx: Map<string, number>;
  /** [path, label] of every image. */
  readonly samples: [string, number][];
  private readonly transform?: (image: Tensor) => Tensor;
  private readonly onBadImage?: (path: string, error: Error) => void;
  /** Indices of samples found unreadable (only with onBadImage). */
  private readonly bad = new Set<number>();

  constructor(root: string, options: ImageFolderOptions = {}) {
    this.root = root;
    this.transform = options.transform;
    this.onBadImage = options.onBadImage;
    this.classes = readdirSync(root, { withFileTypes: true })
      .filter((e) => e.isDirectory() || (e.isSymbolicLink() && statSync(join(root, e.name)).isDirectory()))
      .map((e) => e.name)
      .sort();
    if (this.classes.length === 0) throw new Error(`ImageFolder: no class folders in ${root}`);
    this.classToIdx = new Map(this.classes.map((c, i) => [c, i]));
    this.samples = [];
    const empty: string[] = [];
    for (const [label, cls] of this.classes.entries()) {
      const files = walk(join(root, cls)).filter(isImageFile);
      if (files.length === 0) empty.push(cls);
      for (const f of files) this.samples.push([f, label]);
    }
    if (empty.length > 0) throw new Error(`ImageFolder: found no .png/.jpg/.jpeg files for the classes ${empty.join(', ')} in ${root}`);
  }

  get length(): number {
    return this.samples.length;
  }

  get(index: number): LabeledImage {
    checkIndex('ImageFolder', index, this.length);
    for (let k = 0; k < this.length; k++) {
      const i = (index + k) % this.length;
      if (this.bad.has(i)) continue;
      const [path, label] = this.samples[i];
      let image: Tensor;
      try {
        image = decodeImage(readFileSync(path), path);
      } catch (error) {
        if (this.onBadImage === undefined) throw error;
        this.bad.add(i);
        this.onBadImage(path, error as Error);
        continue;
      }
      return { image: this.transform ? this.transform(image) : image, label };
    }
    throw new Error(`ImageFolder: none of the ${this.length} images in ${this.root} could be read`);
  }
}

/** Every file below `dir`, as os.walk sorted by folder, then by file name (symlinks followed). */
function walk(dir: string): string[] {
  const folders: [string, string[]][] = [];
  const visit = (d: string) => {
    const files: string[] = [];
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, e.name);
      const stat = e.isSymbolicLink() ? statSync(path) : e;
      if (stat.isDirectory()) visit(path);
      else files.push(e.name);
    }
    folders.push([d, files.sort()]);
  };
  visit(dir);
  folders.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return folders.flatMap(([d, files]) => files.map((f) => join(d, f)));
}

/**
 * Descriptions from proto comments. `buf build` keeps source info in the descriptor set
 * (SourceCodeInfo, descriptor.proto), which locates each comment by a path of field numbers
 * and indexes: message 4, field 2, nested message 3, enum 5 (4 inside a message), value 2,
 * service 6, method 2. A set built without source info simply yields no descriptions.
 */
import type { DescEnum, DescEnumValue, DescField, DescFile, DescMessage, DescMethod, DescService } from '@bufbuild/protobuf';

type Described = DescMessage | DescField | DescEnum | DescEnumValue | DescService | DescMethod;

const cache = new WeakMap<DescFile, Map<string, string>>();

/** The leading comment of a declaration (trailing when it has none), trimmed; undefined if none. */
export function protoComment(desc: Described): string | undefined {
  const file = fileOf(desc);
  let byPath = cache.get(file);
  if (!byPath) {
    byPath = new Map();
    for (const loc of file.proto.sourceCodeInfo?.location ?? []) {
      const text = clean(loc.leadingComments) || clean(loc.trailingComments);
      if (text) byPath.set(loc.path.join(','), text);
    }
    cache.set(file, byPath);
  }
  return byPath.get(sourcePath(desc).join(','));
}

/** The first sentence (or line) of a comment, for an operation's summary. */
export function firstSentence(text: string): string {
  const line = text.split(/\n\s*\n/)[0].replace(/\s*\n\s*/g, ' ');
  const end = line.search(/\.(\s|$)/);
  return end === -1 ? line : line.slice(0, end + 1);
}

function clean(text: string | undefined): string {
  if (!text) return '';
  const lines = text.split('\n').map((l) => (l.startsWith(' ') ? l.slice(1) : l).trimEnd());
  return lines.join('\n').trim();
}

function fileOf(desc: Described): DescFile {
  switch (desc.kind) {
    case 'field':
    case 'rpc':
    case 'enum_value':
      return fileOf(desc.parent);
    default:
      return desc.file;
  }
}

function sourcePath(desc: Described): number[] {
  switch (desc.kind) {
    case 'message':
      return desc.parent ? [...sourcePath(desc.parent), 3, desc.parent.nestedMessages.indexOf(desc)] : [4, desc.file.messages.indexOf(desc)];
    case 'enum':
      return desc.parent ? [...sourcePath(desc.parent), 4, desc.parent.nestedEnums.indexOf(desc)] : [5, desc.file.enums.indexOf(desc)];
    case 'field':
      return [...sourcePath(desc.parent), 2, desc.parent.proto.field.indexOf(desc.proto)];
    case 'enum_value':
      return [...sourcePath(desc.parent), 2, desc.parent.values.indexOf(desc)];
    case 'service':
      return [6, desc.file.services.indexOf(desc)];
    case 'rpc':
      return [...sourcePath(desc.parent), 2, desc.parent.methods.indexOf(desc)];
  }
}

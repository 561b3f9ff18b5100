// Package torchsave reads and writes the zip archives of PyTorch's
// torch.save, lazily and byte-faithfully.
//
// An archive is a zip whose records sit under one folder ("archive" when
// saved to a stream, the file stem when saved to a path):
//
//	data.pkl       the pickled object; tensors refer to storages by persistent id
//	byteorder      "little" or "big" (torch >= 2.1; absent means little)
//	data/<key>     the raw bytes of each storage, 64-byte aligned
//	version        "3\n"
//
// # Reading
//
// Open reads the zip directory and decodes data.pkl with internal/pickle.
// Every tensor (torch._utils._rebuild_tensor_v2/v3, _rebuild_parameter,
// _rebuild_parameter_with_state, and _rebuild_from_type_v2 of those) is
// replaced in the object tree by a *Tensor that records where its bytes
// are; nothing is read until Tensor.Reader, WriteTo or DataRange is used.
// Everything else stays as internal/pickle decodes it: OrderedDicts,
// bytes, io.BytesIO objects (see BytesIOData) and arbitrary globals.
// Storage records must be stored (uncompressed) and exactly as long as
// their persistent ids say, and every tensor view must fit inside its
// storage; data.pkl is capped (DefaultMaxPickleSize) before it is read.
// Contiguous tensors are one byte range (DataRange); other views are
// gathered through a 256 KiB buffer, reading a span of up to 8 MiB in one
// piece when the view's contiguous runs are short. Archives whose
// byteorder record says "big" are byte-swapped by Reader and WriteTo.
//
// # Writing
//
// Writer lays out records exactly as torch's PyTorchStreamWriter (miniz)
// does: local headers with flags 0x0808, method 0 and zero CRC and sizes;
// an "FB" extra field padding the data to a multiple of 64 bytes from the
// archive start; a data descriptor after the data (none for empty records,
// as miniz); a central directory with real CRCs and sizes; and always a
// ZIP64 end record, its locator and the classic end record, with zip64
// fields once a size or offset reaches 0xFFFFFFFF. Data is streamed from
// readers and its CRC-32 computed on the way; nothing is buffered.
//
// Save and WriteTensor write the records torch 2.x writes, in its order:
// data.pkl, byteorder, data/0..data/N (numeric key order, which is first
// use in the pickle), version. SaveOptions.NoByteOrder drops byteorder, as
// torch < 2.1 wrote none. The optional torch >= 2.5 records
// (.format_version, .storage_alignment, .data/serialization_id) are left
// out on purpose: every torch version reads archives without them (their
// absence selects the general loading path), and serialization_id would
// only be a hash of the other records.
//
// Tensors are pickled as torch's Tensor.__reduce_ex__ does:
// _rebuild_tensor_v2 with the legacy storage class (BFloat16Storage for
// bfloat16, ...), or _rebuild_tensor_v3 with torch.UntypedStorage, a byte
// count and the dtype for types that have no legacy class (float8_*,
// uint16/32/64, ...); backward_hooks is collections.OrderedDict(). Save
// uses internal/pickle's encoder (protocol 2, only opcodes that
// torch.load(weights_only=True) accepts, no memo opcodes). WriteTensor, the
// form of every tensor item in a distributed checkpoint, writes data.pkl
// exactly as Python's pickler does, memo opcodes included, so its output
// with NoByteOrder is byte-identical to torch 1.13's torch.save(tensor,
// buffer).
package torchsave

/**
 * Volumes for 3D U-Nets and 2D-on-slices: NIfTI-1/2 reading (.nii, .nii.gz), writing masks and
 * float volumes with an input's header, fresh headers, seeded synthetic volumes, volume data
 * folders, and slice/patch helpers. Voxels are kept as NIfTI stores them (i fastest), which is a
 * [D = nz, H = ny, W = nx] row-major tensor. Errors in files are `DataError`s (util/error.ts).
 */
export { parseNifti, readNifti, type NiftiVersion, type NiftiVolume } from './nifti.js';
export {
  encodeNiftiLabels,
  encodeNiftiMask,
  encodeNiftiVolume,
  writeNiftiLabels,
  writeNiftiMask,
  writeNiftiVolume,
  type NiftiTemplate,
} from './nifti-write.js';
export { affineToQuaternion, createNiftiHeader, type NiftiGeometry, type NiftiHeaderTemplate } from './create.js';
export { parseDicomSeries, readDicomSeries, type DicomFileBytes } from './dicom.js';
export {
  syntheticVolume,
  writeSyntheticVolumes,
  type SyntheticCase,
  type SyntheticVolume,
  type SyntheticVolumeOptions,
} from './synthetic.js';
export { scanVolumeDataset, type VolumeSample, type VolumeScanOptions, type VolumeScanResult } from './folder.js';
export {
  extractPatch,
  placePatch,
  placeSlice,
  randomPatchOrigin,
  sliceVolume,
  type PatchVector,
  type Slice,
  type SliceAxis,
  type UniformSource,
  type VolumeDims,
  type VoxelArray,
} from './slices.js';

/**
 * What happens to attributes that Table E.1-1 does not name.
 *
 * Tributary's rule (docs/deidentification.md, "Attributes the table does not name"): a standard
 * attribute the table does not name survives only if it is on this allow-list; everything else is
 * removed. The list is generous on purpose so images stay valid and useful (pixel module, geometry,
 * acquisition parameters, code items, references), and a pool can keep more with `keep` overrides.
 *
 * Two granularities:
 * - KEEP_GROUPS: technical groups whose unnamed attributes are kept EXCEPT free text (LT, ST, UT,
 *   UC), person names (PN) and attributes of unknown VR. Those are where unexpected PHI hides, and
 *   the table already names the ones the standard knows to be identifying.
 * - KEEP_KEYWORDS: single attributes kept from any other group (including text ones named here).
 *
 * Unnamed dates (DA, DT) follow the date options instead (shifted, kept or removed), and unnamed
 * UIDs that are not on the list are remapped like U rather than removed (engine.ts).
 */
export const KEEP_GROUPS: readonly number[] = [
  0x0014, // NDE / detector geometry
  0x0018, // acquisition: CT/MR/PET/XA/US technique, contrast, device parameters
  0x0020, // relationship and geometry: positions, orientation, numbers, temporal positions
  0x0022, // ophthalmology
  0x0024, // visual field
  0x0028, // image pixel, VOI/modality LUTs, palette, compression status
  0x0054, // NM / PET
  0x0060, // histograms
  0x0062, // segmentation
  0x0064, // deformable registration
  0x0066, // surfaces
  0x0068, // implant templates
  0x0070, // presentation state graphics, spatial registration
  0x2050, // presentation LUT
  0x3002, // RT image
  0x3004, // RT dose
  0x3006, // RT structure set (ROI names/descriptions are table rows)
  0x3008, // RT treatment record
  0x300a, // RT plan
  0x300c, // RT references
  0x300e, // RT approval (reviewer name/date are table rows)
  0x5200, // shared / per-frame functional groups (their items are cleaned recursively)
  0x5400, // waveforms
  0x7fe0, // pixel data
];

export const KEEP_KEYWORDS: readonly string[] = [
  // SOP common, general image and series identification
  'SpecificCharacterSet', 'ImageType', 'SOPClassUID', 'RelatedGeneralSOPClassUID', 'OriginalSpecializedSOPClassUID',
  'SyntheticData', 'InstanceAvailability', 'Modality', 'ModalitiesInStudy', 'SOPClassesInStudy',
  'ConversionType', 'PresentationIntentType', 'Manufacturer', 'ManufacturerModelName', 'EquipmentModality',
  'FrameType', 'PixelPresentation', 'VolumetricProperties', 'VolumeBasedCalculationTechnique',
  'ComplexImageComponent', 'AcquisitionContrast', 'RecommendedDisplayFrameRate', 'RecommendedDisplayFrameRateInFloat',
  'LanguageCodeSequence',
  // Code sequence macro (PS3.3 Table 8.8-1) and coding scheme identification
  'CodeValue', 'CodingSchemeDesignator', 'CodingSchemeVersion', 'CodeMeaning', 'LongCodeValue', 'URNCodeValue',
  'MappingResource', 'MappingResourceUID', 'MappingResourceName', 'ContextIdentifier', 'ContextUID',
  'ContextGroupExtensionFlag', 'ContextGroupExtensionCreatorUID', 'EquivalentCodeSequence',
  'CodingSchemeIdentificationSequence', 'CodingSchemeUID', 'CodingSchemeRegistry', 'CodingSchemeName',
  'CodingSchemeResponsibleOrganization', 'CodingSchemeExternalID',
  // Anatomy, procedure and derivation codes
  'AnatomicRegionSequence', 'AnatomicRegionModifierSequence', 'PrimaryAnatomicStructureSequence',
  'PrimaryAnatomicStructureModifierSequence', 'AnatomicStructureSpaceOrRegionSequence', 'AnatomicRegionsInStudyCodeSequence',
  'ProcedureCodeSequence', 'SeriesDescriptionCodeSequence', 'DerivationCodeSequence', 'PurposeOfReferenceCodeSequence',
  'PerformedProtocolCodeSequence', 'PerformedProtocolType', 'MeasurementUnitsCodeSequence',
  // References between instances (their UIDs are remapped by the table's U rows)
  'ReferencedSOPClassUID', 'ReferencedFrameNumber', 'ReferencedSegmentNumber', 'ReferencedSeriesSequence',
  'ReferencedInstanceSequence', 'ReferencedSOPSequence', 'ReferencedInstancesBySOPClassSequence',
  'StudiesContainingOtherReferencedInstancesSequence', 'RelatedSeriesSequence', 'ReferencedImageEvidenceSequence',
  'SourceImageEvidenceSequence', 'DerivationImageSequence', 'ReferencedRawDataSequence', 'ReferencedWaveformSequence',
  'ReferencedPresentationStateSequence', 'ReferencedOtherPlaneSequence', 'ReferencedStereometricInstanceSequence',
  'ReferencedRealWorldValueMappingInstanceSequence', 'SimpleFrameList', 'CalculatedFrameList', 'TimeRange',
  'FrameExtractionSequence', 'SourceIrradiationEventSequence', 'ReferencedNonImageCompositeSOPInstanceSequence',
  // Real world value mapping
  'RealWorldValueMappingSequence', 'ReferencedImageRealWorldValueMappingSequence', 'LUTLabel',
  'RealWorldValueLastValueMapped', 'RealWorldValueFirstValueMapped', 'RealWorldValueLUTData',
  'DoubleFloatRealWorldValueLastValueMapped', 'DoubleFloatRealWorldValueFirstValueMapped', 'QuantityDefinitionSequence',
  'RealWorldValueIntercept', 'RealWorldValueSlope', 'PixelValueMappingCodeSequence', 'ParametricMapFrameTypeSequence',
  // Patient attributes that are not about the person (veterinary, phantoms)
  'PatientSpeciesDescription', 'PatientSpeciesCodeSequence', 'PatientBreedDescription', 'PatientBreedCodeSequence',
  'QualityControlSubject', 'QualityControlSubjectTypeCodeSequence', 'AnatomicalOrientationType', 'ExaminedBodyThickness',
  // Clinical trial context that is not identifying
  'LongitudinalTemporalOffsetFromEvent', 'LongitudinalTemporalEventType', 'ClinicalTrialTimePointTypeCodeSequence',
  'DistributionType',
  // Structured reporting skeleton (text values and person names are NOT kept; see docs)
  'RelationshipType', 'ValueType', 'ConceptNameCodeSequence', 'ConceptCodeSequence', 'ContinuityOfContent',
  'MeasuredValueSequence', 'NumericValue', 'NumericValueQualifierCodeSequence', 'FloatingPointValue',
  'RationalNumeratorValue', 'RationalDenominatorValue', 'ContentTemplateSequence', 'TemplateIdentifier',
  'ModifierCodeSequence', 'CompletionFlag', 'VerificationFlag', 'PreliminaryFlag', 'TemporalRangeType',
  'ReferencedSamplePositions', 'ReferencedFrameNumbers', 'ReferencedTimeOffsets', 'ReferencedContentItemIdentifier',
  'ReferencedWaveformChannels', 'CurrentRequestedProcedureEvidenceSequence', 'PertinentOtherEvidenceSequence',
  'IdenticalDocumentsSequence', 'PredecessorDocumentsSequence', 'TabulatedValuesSequence', 'NumberOfTableRows',
  'NumbeOfTableColumns', 'TableRowNumber', 'TableColumnNumber', 'TableRowDefinitionSequence', 'TableColumnDefinitionSequence',
  'CellValuesSequence', 'AnnotationGroupNumber', 'WaveformAnnotationSequence',
  // X-ray dose summary
  'TotalTimeOfFluoroscopy', 'TotalNumberOfExposures', 'EntranceDose', 'EntranceDoseInmGy', 'EntranceDoseDerivation',
  'ExposedArea', 'DistanceSourceToEntrance', 'ExposureDoseSequence', 'XRayOutput', 'HalfValueLayer', 'OrganDose',
  'OrganExposed',
  // Encapsulated documents: the MIME type (the document itself is a table row, D)
  'MIMETypeOfEncapsulatedDocument',
  // Overlay planes are kept only with Clean Graphics (profile.ts adds group 60xx then).
];

/** Narrative and identifying VRs that a KEEP_GROUPS entry does not keep on its own. */
export const NOT_KEPT_BY_GROUP_VRS: ReadonlySet<string> = new Set(['LT', 'ST', 'UT', 'UC', 'PN', 'UN']);

/**
 * Short free-text or device-identifying attributes inside KEEP_GROUPS that the table does not name
 * but that can hold a name, a comment or an address: removed like any unlisted attribute.
 */
export const NOT_KEPT_BY_GROUP_KEYWORDS: readonly string[] = [
  'ContentDescription', // (0070,0081) presentation state free text
  'DoseComment', // (3004,0006)
  'FrameOfReferenceTransformationComment', // (3006,00C8)
  'SystemStatusComment', // (0028,7007)
  'TestResultComment', // (0028,702A)
  'InstructionText', // (0018,9916)
  'NTPSourceAddress', // (0018,1803)
  'DeviceID', // (0018,1003) device identity
  'SecondaryCaptureDeviceID', // (0018,1010) device identity
];

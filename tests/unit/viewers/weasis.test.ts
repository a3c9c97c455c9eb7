/**
 * The Weasis manifest builder and launch links, without a database: the XML validates against
 * Weasis's own schema (shipped in tests/fixtures/weasis) even with awkward values, and the
 * weasis:// links decode (as Weasis's URLDecoder does) to exactly the intended commands.
 */
import { describe, expect, it } from 'vitest';
import { ohifDataSource } from '@/lib/viewers/ohif';
import {
  buildManifestXml,
  decodeWeasisUrl,
  javaUrlEncode,
  manifestLaunchUrl,
  rsLaunchUrl,
  WEASIS_NS,
  type ManifestStudy,
} from '@/lib/viewers/weasis';
import { validateManifest } from './xmllint';

function study(n: number, over: Partial<ManifestStudy> = {}): ManifestStudy {
  return {
    studyInstanceUid: `2.25.100${n}`,
    studyDescription: 'CT CHEST',
    studyDate: '20230412',
    studyTime: '093012',
    accessionNumber: 'ACC1',
    studyId: 'S1',
    patientId: 'TRB-0123456789',
    patientName: 'TRB-0123456789',
    patientBirthDate: '',
    patientSex: 'F',
    series: [
      {
        seriesInstanceUid: `2.25.200${n}`,
        seriesDescription: 'AXIAL',
        seriesNumber: 1,
        modality: 'CT',
        instances: [
          { sopInstanceUid: `2.25.300${n}1`, instanceNumber: 1 },
          { sopInstanceUid: `2.25.300${n}2`, instanceNumber: null },
        ],
      },
    ],
    ...over,
  };
}

const base = { uid: 'abcdefghijklmnopqrstuvwx', arcId: 'tributary', baseUrl: 'https://tributary.example.org/dicomweb/pool1/wado', httpTags: { Authorization: 'Bearer trbv_secret' } };

describe('Weasis manifest', () => {
  it('validates against manifest.xsd and carries what Weasis sorts and labels by', () => {
    const xml = buildManifestXml({ ...base, studies: [study(1), study(2, { patientId: 'TRB-OTHER', patientName: 'TRB-OTHER' })] });
    const v = validateManifest(xml);
    expect(v.ok, v.output).toBe(true);
    expect(xml).toContain(`<manifest xmlns="${WEASIS_NS}" uid="abcdefghijklmnopqrstuvwx">`);
    expect(xml).toContain('<arcQuery arcId="tributary" baseUrl="https://tributary.example.org/dicomweb/pool1/wado" requireOnlySOPInstanceUID="false">');
    expect(xml).toContain('<httpTag key="Authorization" value="Bearer trbv_secret"/>');
    expect(xml.match(/<Patient /g)).toHaveLength(2);
    expect(xml).toContain('<Study StudyInstanceUID="2.25.1001" StudyDescription="CT CHEST" StudyDate="20230412" StudyTime="093012" AccessionNumber="ACC1" StudyID="S1">');
    expect(xml).toContain('<Series SeriesInstanceUID="2.25.2001" SeriesDescription="AXIAL" SeriesNumber="1" Modality="CT">');
    expect(xml).toContain('<Instance SOPInstanceUID="2.25.30011" InstanceNumber="1"/>');
    expect(xml).toContain('<Instance SOPInstanceUID="2.25.30012"/>');
  });

  it('stays valid with values the schema would refuse: they are cut to length or left out', () => {
    const odd = study(3, {
      patientName: 'Müller-Lüdenscheidt^Zoë & <Co> "quoted" ' + 'x'.repeat(80),
      studyDescription: 'd'.repeat(100),
      studyTime: '25:00',
      studyDate: '2023-04-12',
      accessionNumber: 'A'.repeat(30),
      patientSex: 'U',
      patientBirthDate: '19700101',
      series: [
        { seriesInstanceUid: '2.25.2003', seriesDescription: 'tab\there\u0001', seriesNumber: 2 ** 40, modality: 'mr', instances: [{ sopInstanceUid: '2.25.30031', instanceNumber: -1 }] },
        { seriesInstanceUid: 'not-a-uid', seriesDescription: '', seriesNumber: null, modality: '', instances: [{ sopInstanceUid: '2.25.9', instanceNumber: 1 }] },
        { seriesInstanceUid: '2.25.2004', seriesDescription: '', seriesNumber: null, modality: 'SR', instances: [] },
      ],
    });
    const empty = study(4, { series: [] });
    const xml = buildManifestXml({ ...base, studies: [odd, empty] });
    const v = validateManifest(xml);
    expect(v.ok, `${v.output}\n${xml}`).toBe(true);
    expect(xml).toContain('&amp; &lt;Co&gt; &quot;quoted&quot;');
    expect(xml).not.toContain('StudyTime=');
    expect(xml).not.toContain('PatientSex=');
    expect(xml).toContain('PatientBirthDate="19700101"');
    expect(xml).not.toContain('not-a-uid');
    expect(xml).not.toContain('2.25.1004'); // a study with nothing to show is left out
    expect(xml).not.toContain('2.25.2004');
  });

  it('validates with no study at all (an empty arcQuery)', () => {
    const v = validateManifest(buildManifestXml({ ...base, studies: [] }));
    expect(v.ok, v.output).toBe(true);
  });

  it('is refused by the schema when broken (the validation really validates)', () => {
    const xml = buildManifestXml({ ...base, studies: [study(5)] }).replace('SeriesNumber="1"', 'SeriesNumber="one"');
    expect(validateManifest(xml).ok).toBe(false);
  });
});

describe('weasis:// links', () => {
  const manifestUrl = 'https://tributary.example.org/api/v1/weasis/manifests/abcdefghijklmnopqrstuvwx';

  it('encodes like java.net.URLEncoder (spaces as +) and decodes back to the command', () => {
    expect(javaUrlEncode('$dicom:get -w "a b"')).toBe('%24dicom%3Aget+-w+%22a+b%22');
    const link = manifestLaunchUrl(manifestUrl);
    expect(link).toBe(`weasis://%24dicom%3Aget+-w+%22${encodeURIComponent(manifestUrl)}%22`);
    expect(decodeWeasisUrl(link)).toBe(`$dicom:get -w "${manifestUrl}"`);
    expect(link).not.toMatch(/[ "]/);
  });

  it('puts the token of the $dicom:rs form in a header argument, never in a URL', () => {
    const root = 'https://tributary.example.org/dicomweb/pool1';
    const link = rsLaunchUrl(root, ['2.25.1', '2.25.2'], 'trbv_abc-DEF_123');
    const cmd = decodeWeasisUrl(link);
    expect(cmd).toBe(`$dicom:rs --url "${root}" -r "studyUID=2.25.1" -r "studyUID=2.25.2" -H "Authorization: Bearer trbv_abc-DEF_123"`);
    const urls = cmd.match(/https?:\/\/[^"\s]+/g) ?? [];
    expect(urls).toEqual([root]);
    for (const u of urls) expect(u).not.toContain('trbv_');
  });
});

describe('OHIF data source', () => {
  it('points every root at the pool’s DICOMweb and states what the server supports', () => {
    const ds = ohifDataSource('pool1', 'Cardiac');
    expect(ds.configuration).toMatchObject({
      qidoRoot: 'http://localhost:3000/dicomweb/pool1',
      wadoRoot: 'http://localhost:3000/dicomweb/pool1',
      wadoUriRoot: 'http://localhost:3000/dicomweb/pool1/wado',
      qidoSupportsIncludeField: true,
      imageRendering: 'wadors',
      thumbnailRendering: 'wadors',
      enableStudyLazyLoad: true,
      supportsFuzzyMatching: false,
      supportsWildcard: true,
    });
  });
});

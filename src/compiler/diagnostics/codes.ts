/**
 * Every diagnostic code unetc emits. Codes are stable: tools and tests match on them.
 * E1xx syntax, E2xx schema, E3xx meaning, E4xx shapes, E5xx explicit graphs, E9xx files.
 */
export const Codes = {
  yamlSyntax: 'E101',
  dslLex: 'E102',
  dslSyntax: 'E103',
  dslUnknownKeyword: 'E104',
  duplicateKey: 'E105',
  notAMapping: 'E106',

  unknownKey: 'E201',
  wrongType: 'E202',
  outOfRange: 'E203',
  notAllowed: 'E204',
  missingKey: 'E205',
  badLength: 'E206',
  badName: 'E207',

  networkOrGraph: 'E301',
  filtersVsDepth: 'E302',
  classesVsActivation: 'E303',
  classNames: 'E304',
  badOrder: 'E305',
  dropoutWithoutStep: 'E306',
  dropoutLevels: 'E307',
  unknownBlock: 'E308',
  skipChannels: 'E309',
  trainMismatch: 'E310',
  dimsMismatch: 'E311',
  notIn3d: 'E312',
  deepSupervision: 'E313',
  instances: 'E314',
  multiLabel: 'W301',
  dropoutZero: 'W302',
  doubleActivation: 'W303',
  attentionWithoutSkips: 'W306',
  augmentNotIn3d: 'W307',
  seRatio: 'W304',

  sizeDoesNotFit: 'E401',
  sizeVanishes: 'E402',
  noSizeFits: 'E404',
  cropTooSmall: 'E405',
  mergeMismatch: 'E406',

  duplicateNode: 'E501',
  unknownNode: 'E502',
  cycle: 'E503',
  arity: 'E504',
  unusedNode: 'W505',

  unreadable: 'E901',
  unknownFileType: 'E902',
} as const;

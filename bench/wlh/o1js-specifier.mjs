// Which module specifiers `wlh run` redirects to the chosen o1js copy: the bare name and its subpaths,
// nothing else ('o1js-extra', './o1js', '@scope/o1js' resolve as usual).
export function isO1jsSpecifier(specifier) {
  return specifier === 'o1js' || specifier.startsWith('o1js/');
}

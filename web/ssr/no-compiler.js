// Stands in for Vue's template compilers in the server's bundle (vite.config.ts): the app's
// templates are compiled at build time, so nothing there compiles one at run time.
function compile() {
  throw new Error('templates are compiled at build time')
}
module.exports = { compile, baseCompile: compile }

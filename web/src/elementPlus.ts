// Element Plus's settings for the whole app, and the few functions called outside templates.
// Loaded by deferred.ts, never imported statically by the shell or a light page (see there).
import { computed, type App } from 'vue'
import { ElMessage, ElMessageBox, provideGlobalConfig } from 'element-plus'
import elEn from 'element-plus/es/locale/lang/en'
import elZhCn from 'element-plus/es/locale/lang/zh-cn'
import { locale } from '@/i18n'

export { ElMessage, ElMessageBox }

const elementLocale = computed(() => (locale.value === 'zh-CN' ? elZhCn : elEn))

/** What <el-config-provider> gave every component: the app's language, now given by the app
 *  itself (components created after this see it; none that need it exist before). */
export function install(app: App): void {
  provideGlobalConfig(computed(() => ({ locale: elementLocale.value })), app, true)
}

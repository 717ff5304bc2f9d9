// The shell's navigation, as AppShell builds it from the user's permissions.
import type { Component } from 'vue'

export interface NavGroup {
  label: string
  items: { to: string; label: string; icon: Component }[]
}

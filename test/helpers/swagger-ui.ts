import type { BrowserContext, Locator, Page } from 'playwright-core'

/** What Swagger UI shows after "Execute": the status code and the response body, as text. */
export interface ExecutedResponse {
  readonly status: string
  readonly body: string
}

/** Swagger UI at `<origin>/docs` in a browser page, driven the way a user would: buttons, fields, dialogs. */
export class SwaggerUi {
  readonly page: Page
  /** Uncaught errors of the page's scripts, to show when a step fails. */
  readonly errors: Error[] = []

  private constructor(page: Page) {
    this.page = page
    page.on('pageerror', (error) => { this.errors.push(error) })
  }

  /** Opens `url` (Swagger UI) in a new page of `context` and waits until the operations are listed. */
  static async open(context: BrowserContext, url: string): Promise<SwaggerUi> {
    const ui = new SwaggerUi(await context.newPage())
    await ui.page.goto(url)
    await ui.page.locator('.opblock').first().waitFor()
    return ui
  }

  /** Clicks the top "Authorize" button; the dialog listing the security schemes. */
  async openAuthorize(): Promise<Locator> {
    await this.page.locator('.auth-wrapper button.authorize').click()
    const dialog = this.page.locator('.dialog-ux .modal-ux')
    await dialog.waitFor()
    return dialog
  }

  /** The names of the schemes the Authorize dialog offers, in order. */
  async schemeNames(): Promise<string[]> {
    const titles = await this.page.locator('.dialog-ux .auth-container h4').allInnerTexts()
    return titles.map((title) => title.trim().split(/\s/, 1)[0] ?? '')
  }

  /** The dialog's part for `scheme` (e.g. `entraUser`). */
  scheme(scheme: string): Locator {
    return this.page.locator('.dialog-ux .auth-container').filter({ has: this.page.locator('h4', { hasText: new RegExp(`^\\s*${scheme}\\s`) }) })
  }

  /** Pastes `token` under `scheme` (an http bearer scheme) and applies it. */
  async authorizeBearer(scheme: string, token: string): Promise<void> {
    const part = this.scheme(scheme)
    await part.locator('input[aria-label="auth-bearer-value"]').fill(token)
    await part.locator('button.authorize').click()
    await SwaggerUi.logoutButton(part).waitFor()
  }

  /** The "Logout" button a scheme's part shows once authorized. */
  static logoutButton(part: Locator): Locator {
    return part.locator('button', { hasText: 'Logout' })
  }

  /** Closes the Authorize dialog. */
  async closeAuthorize(): Promise<void> {
    await this.page.locator('.dialog-ux .close-modal').click()
    await this.page.locator('.dialog-ux').waitFor({ state: 'detached' })
  }

  /** Expands the operation `method path`, "Try it out", "Execute"; what the UI then shows. */
  async execute(method: string, path: string): Promise<ExecutedResponse> {
    const operation = this.page.locator(`.opblock.opblock-${method.toLowerCase()}`).filter({ has: this.page.locator(`.opblock-summary-path[data-path="${path}"]`) })
    await operation.locator('.opblock-summary-control').click()
    await operation.locator('button.try-out__btn').click()
    await operation.locator('button.execute').click()
    const live = operation.locator('.live-responses-table .response')
    await live.waitFor()
    return {
      status: (await live.locator('.response-col_status').innerText()).trim(),
      body: await live.locator('.response-col_description').innerText()
    }
  }

  /** Closes the page. */
  async close(): Promise<void> {
    await this.page.close()
  }
}

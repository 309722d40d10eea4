/// The one route table: method + path pattern -> handler. Handlers live one file per resource in Routes/.
public enum Routes {
    public static let table: [Route] = [
        Route("POST", "/api/auth/login", AuthRoutes.login),
        Route("GET", "/api/auth/me", AuthRoutes.me),
        Route("POST", "/api/auth/logout", AuthRoutes.logout),

        Route("GET", "/api/users", UserRoutes.list),
        Route("POST", "/api/users", UserRoutes.create),
        Route("GET", "/api/users/{id}", UserRoutes.get),
        Route("PATCH", "/api/users/{id}", UserRoutes.update),
        Route("DELETE", "/api/users/{id}", UserRoutes.delete),
    ]
}

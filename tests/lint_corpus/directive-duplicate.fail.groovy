pipeline {
    agent any
    options {  // <-- directive-duplicate (Jenkins's line)
        timestamps()
        timestamps()  // <-- directive-duplicate
    }
    stages {
        stage('build') {
            steps {
                echo 'hello'
            }
        }
    }
}
